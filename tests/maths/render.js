// Parse TeX spans with the two renderers a student's notebook meets: MathJax 3 configured as
// JupyterLab configures it (every TeX package, including textmacros, so that \text{} is read
// as TeX text mode), and KaTeX (VS Code's notebook renderer). Reads a JSON list of
// {"tex": "...", "display": true|false} on standard input and writes, for each span in order,
// {"mathjax": error-or-null, "katex": error-or-null} as a JSON list on standard output.
"use strict";

const katex = require("katex");
const { mathjax } = require("mathjax-full/js/mathjax.js");
const { TeX } = require("mathjax-full/js/input/tex.js");
const { AllPackages } = require("mathjax-full/js/input/tex/AllPackages.js");
const { liteAdaptor } = require("mathjax-full/js/adaptors/liteAdaptor.js");
const { RegisterHTMLHandler } = require("mathjax-full/js/handlers/html.js");
const { STATE } = require("mathjax-full/js/core/MathItem.js");
const { SVG } = require("mathjax-full/js/output/svg.js");

RegisterHTMLHandler(liteAdaptor());
// noerrors and noundefined turn an error into red text on the page instead of failing: they are
// left out here so that every such error is reported. JupyterLab's "require" needs a loader.
const packages = AllPackages.filter((name) => !["noerrors", "noundefined"].includes(name));
const tex = new TeX({
  packages,
  formatError: (_jax, error) => {
    throw error;
  },
});
// An output jax too: some packages (bussproofs) refuse to start without one.
const page = mathjax.document("", { InputJax: tex, OutputJax: new SVG({ fontCache: "none" }) });

function mathjaxError(source, display) {
  try {
    page.convert(source, { display, end: STATE.CONVERT });
    return null;
  } catch (error) {
    return String(error.message || error);
  }
}

function katexError(source, display) {
  try {
    katex.renderToString(source, { displayMode: display, throwOnError: true });
    return null;
  } catch (error) {
    return String(error.message || error);
  }
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  input += chunk;
});
process.stdin.on("end", () => {
  const spans = JSON.parse(input);
  const results = spans.map(({ tex: source, display }) => ({
    mathjax: mathjaxError(source, display),
    katex: katexError(source, display),
  }));
  process.stdout.write(JSON.stringify(results));
});
