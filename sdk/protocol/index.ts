// The protocol's model, shared by every off-chain part: stored states and their names, the one
// phase rule, the commitment hash and the limits and deployment defaults. Pure (no Node
// built-ins), so the browser imports it too; the deployment reader, which reads Ignition's files,
// is its Node-side companion and is imported by path (./deployments.ts).
export * from "./commitment.ts";
export * from "./limits.ts";
export * from "./phase.ts";
export * from "./states.ts";
