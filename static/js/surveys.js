// Live display conditions on answer pages. The server evaluates the same rules (surveys/engine.py)
// on every submission and drops answers to hidden questions; this only spares people questions
// that do not concern them. Same grammar: question/in/not_in/gte/lte/answered, all/any/not.

const form = document.getElementById("survey-page");

function currentAnswers() {
  const answers = JSON.parse(form.dataset.answers || "{}");
  const data = new FormData(form);
  const names = new Set([...data.keys()].filter((name) => name.startsWith("q_")));
  for (const element of form.elements) {
    if (element.name && element.name.startsWith("q_")) names.add(element.name);
  }
  for (const name of names) {
    const code = name.slice(2);
    const values = data.getAll(name).filter((v) => v !== "");
    const field = form.querySelector(`[name="${CSS.escape(name)}"]`);
    const multiple = field && (field.type === "checkbox" || field.tagName === "SELECT");
    if (!values.length) {
      delete answers[code];
    } else if (multiple) {
      answers[code] = values;
    } else {
      // Comparisons below coerce with String()/Number(), as the server compares typed values.
      answers[code] = values[0];
    }
  }
  return answers;
}

function evaluate(cond, answers) {
  if (!cond) return true;
  if (cond.all) return cond.all.every((c) => evaluate(c, answers));
  if (cond.any) return cond.any.some((c) => evaluate(c, answers));
  if (cond.not) return !evaluate(cond.not, answers);
  const value = answers[cond.question];
  if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return false;
  if (cond.answered) return true;
  if (cond.in || cond.not_in) {
    const chosen = new Set((Array.isArray(value) ? value : [value]).map(String));
    const hit = (cond.in || cond.not_in).some((v) => chosen.has(String(v)));
    return cond.in ? hit : !hit;
  }
  const number = Number(value);
  if (Number.isNaN(number)) return false;
  return "gte" in cond ? number >= cond.gte : number <= cond.lte;
}

function refresh() {
  const answers = currentAnswers();
  for (const block of form.querySelectorAll("[data-condition]")) {
    const visible = evaluate(JSON.parse(block.dataset.condition), answers);
    block.hidden = !visible;
    for (const field of block.querySelectorAll("input, select, textarea")) field.disabled = !visible;
  }
}

if (form) {
  form.addEventListener("change", refresh);
  form.addEventListener("input", refresh);
  refresh();
}
