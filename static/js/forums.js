// Progressive enhancement for the forums: votes without a page reload, and similar
// contributions suggested while a title is typed. Every feature works without this file.

function csrfToken(form) {
  const field = form.querySelector('input[name="csrf_token"]');
  return field ? field.value : "";
}

function setPressed(box, mine) {
  box.querySelectorAll('button[name="value"]').forEach((button) => {
    const active = button.value === mine;
    if (button.value === "retract") {
      button.hidden = !mine;
      return;
    }
    button.setAttribute("aria-pressed", active ? "true" : "false");
    button.classList.toggle("fr-btn--secondary", !active);
  });
}

function enhanceVotes() {
  document.querySelectorAll("[data-forum-vote] form").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      const button = event.submitter;
      if (!button) return;
      event.preventDefault();
      const box = form.closest("[data-forum-vote]");
      const body = new FormData(form);
      body.set("value", button.value);
      button.disabled = true;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body,
          headers: { Accept: "application/json", "X-CSRFToken": csrfToken(form) },
          credentials: "same-origin",
        });
        const data = await response.json();
        if (!response.ok) {
          window.alert(data.error || "Le vote n'a pas pu être enregistré.");
          return;
        }
        box.querySelector('[data-count="adopt"]').textContent = String(data.adopt_count);
        box.querySelector('[data-count="refuse"]').textContent = String(data.refuse_count);
        setPressed(box, data.mine);
      } catch (error) {
        // Network trouble: fall back to the ordinary form submission.
        form.submit();
      } finally {
        button.disabled = false;
      }
    });
  });
}

function enhanceSimilar() {
  const input = document.querySelector("[data-similar-url]");
  const list = document.getElementById("similar-live");
  if (!input || !list) return;
  let timer = null;
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(async () => {
      const title = input.value.trim();
      list.replaceChildren();
      if (title.length < 8) return;
      const url = `${input.dataset.similarUrl}?titre=${encodeURIComponent(title)}`;
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const items = await response.json();
      if (!items.length) return;
      const heading = document.createElement("p");
      heading.className = "fr-text--bold fr-mb-1w";
      heading.textContent = list.dataset.heading;
      list.append(heading);
      const ul = document.createElement("ul");
      items.forEach((item) => {
        const li = document.createElement("li");
        const link = document.createElement("a");
        link.href = item.url;
        link.textContent = item.title;
        link.target = "_blank";
        li.append(link);
        ul.append(li);
      });
      list.append(ul);
    }, 400);
  });
}

enhanceVotes();
enhanceSimilar();
