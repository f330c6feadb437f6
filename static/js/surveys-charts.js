// Optional chart on the analyst results page: shares per audience, drawn with plotly.js served
// locally. The table under it carries the same figures and is what assistive technologies read.
const element = document.getElementById("surveys-chart");

if (element && window.Plotly) {
  const chart = JSON.parse(element.dataset.chart);
  const traces = chart.series.map((serie) => ({
    type: "bar",
    orientation: "h",
    name: serie.name,
    y: chart.labels,
    x: serie.values,
  }));
  window.Plotly.newPlot(
    element,
    traces,
    {
      barmode: "group",
      height: 120 + 40 * chart.labels.length * Math.max(1, chart.series.length / 2),
      margin: { l: 260, r: 20, t: 20, b: 40 },
      xaxis: { title: { text: "% des répondants" }, rangemode: "tozero" },
      yaxis: { automargin: true, autorange: "reversed" },
      legend: { orientation: "h" },
      font: { family: "Marianne, arial, sans-serif" },
    },
    // Static: nothing focusable inside the aria-hidden figure (the table is the accessible view).
    { staticPlot: true, displayModeBar: false, responsive: true },
  );
}
