// Import rules of the layout (README "Layout", /docs ARCHITECTURE "Components"), checked by
// `npm run lint:imports` (part of `npm run lint`):
// - product code never imports test/, bench/, demo/ or scripts/ (those import product code);
// - sdk/ is the shared base: it imports no component above it.
// Paths are relative to the repository root; imports carry `.ts`/`.tsx` extensions (a few
// `.js` ones name TypeChain's `.ts` files), and app/ is an npm workspace with its own
// node_modules, which the resolver finds from each importing file.

/** Product components, including the Ignition deployment modules (ignition/modules). */
const PRODUCT = "^(sdk|worker|requester|auditor|app|subgraph-host|devnet|ignition/modules)/";
/** What only tests, benchmarks, the demo and chores may import. */
const NOT_PRODUCT = "^(test|bench|demo|scripts)/";
/** The components sdk/ sits below. */
const ABOVE_SDK = "^(worker|requester|auditor|app|devnet|subgraph-host)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "product-imports-non-product",
      comment:
        "Product code must not import test/, bench/, demo/ or scripts/: move what it needs into the component or sdk/.",
      severity: "error",
      from: { path: PRODUCT },
      to: { path: NOT_PRODUCT },
    },
    {
      name: "sdk-imports-component",
      comment:
        "sdk/ is shared by every component and the browser: it must not import worker/, requester/, auditor/, app/, devnet/ or subgraph-host/.",
      severity: "error",
      from: { path: "^sdk/" },
      to: { path: ABOVE_SDK },
    },
  ],
  options: {
    // Only the repository's own files matter to these rules; packages are not followed.
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist)/|^(types|artifacts|cache|coverage)/" },
    // Type-only imports count as imports: a layer must not name another's types either.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      extensions: [".ts", ".tsx", ".js", ".mjs", ".cjs", ".json"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
      exportsFields: ["exports"],
    },
    skipAnalysisNotInRules: true,
  },
};
