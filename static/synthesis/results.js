// The print button only makes sense with a script; without one, the browser's own print
// command uses the same print stylesheet.
const button = document.getElementById("results-print");
if (button) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
