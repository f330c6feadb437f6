// Synthesis charts: each .synthesis-plot carries its plotly figure as JSON in data-chart (no
// inline script). The tables next to the charts carry the same figures and are what assistive
// technologies read, so the figures are static and hidden from them. The map of académies reads
// the GeoJSON shipped with the application (same origin, no tiles, glyphs or sprites).
const geojsonCache = new Map();

function geojson(url) {
  if (!geojsonCache.has(url)) {
    geojsonCache.set(
      url,
      fetch(url, { credentials: "same-origin" }).then((response) => {
        if (!response.ok) {
          throw new Error(`GeoJSON ${response.status}`);
        }
        return response.json();
      }),
    );
  }
  return geojsonCache.get(url);
}

async function draw(element) {
  const figure = JSON.parse(element.dataset.chart);
  const data = figure.data;
  if (figure.geojson) {
    const shapes = await geojson(figure.geojson);
    for (const trace of data) {
      trace.geojson = shapes;
    }
  }
  const layout = { autosize: true, ...figure.layout };
  if (!layout.height) {
    layout.height = 380;
  }
  await window.Plotly.newPlot(element, data, layout, {
    staticPlot: true,
    displayModeBar: false,
    responsive: true,
  });
  element.dataset.rendered = "true";
}

if (window.Plotly) {
  for (const element of document.querySelectorAll(".synthesis-plot[data-chart]")) {
    draw(element).catch((error) => {
      // The table below stays the reference view; a failed chart just disappears.
      element.closest("figure")?.remove();
      console.error(error);
    });
  }
}
