// Progressive enhancement only: every page works without this file.

// Registration and profile: show the school level only to students and the actor kind only to
// "autre acteur", as the server ignores them otherwise.
function bindAudienceFields(form) {
  const radios = form.querySelectorAll('input[name="audience"]');
  const level = form.querySelector('[data-show-for="eleve"]');
  const kind = form.querySelector('[data-show-for="autre"]');
  if (!radios.length) return;
  const update = () => {
    const checked = form.querySelector('input[name="audience"]:checked');
    const value = checked ? checked.value : '';
    if (level) level.hidden = value !== 'eleve';
    if (kind) kind.hidden = value !== 'autre';
  };
  radios.forEach((radio) => radio.addEventListener('change', update));
  update();
}

// Restrict the département list to the chosen académie.
function bindTerritoryFields(form) {
  const academie = form.querySelector('select[name="academie"]');
  const departement = form.querySelector('select[name="departement"]');
  if (!academie || !departement) return;
  const options = Array.from(departement.options);
  const update = () => {
    options.forEach((option) => {
      const belongs = !option.value || option.dataset.academie === academie.value;
      option.hidden = !belongs;
      option.disabled = !belongs;
    });
    const selected = departement.selectedOptions[0];
    if (selected && selected.disabled) departement.value = '';
  };
  academie.addEventListener('change', update);
  update();
}

document.querySelectorAll('form[data-profile-form]').forEach((form) => {
  bindAudienceFields(form);
  bindTerritoryFields(form);
});

// Move focus to the error summary so screen readers announce it.
const summary = document.getElementById('form-errors');
if (summary) summary.focus();
