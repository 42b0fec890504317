// Benchmarks added by later issues (device replay, postbuild) hook in here.
export async function extraSections() {}
