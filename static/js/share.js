// « Copier le lien »: progressive enhancement of the permalink field (works without this file).
// Nothing leaves the page: the clipboard API only, and the outcome said in a live region.
document.querySelectorAll('button[data-copy-link]').forEach((button) => {
  if (button.dataset.copyBound) return;
  button.dataset.copyBound = '1';
  const field = document.getElementById(button.dataset.copyLink);
  const status = document.querySelector(`[data-copy-status="${button.dataset.copyLink}"]`);
  if (!field || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      if (status) status.textContent = button.dataset.copied;
    } catch (error) {
      field.select();
      if (status) status.textContent = button.dataset.copyFailed;
    }
  });
});
