// Package database files for images whose SBOM a test reads: what conda, pip and dpkg leave in an
// image, written into a layer's context by the test family (no network, no package manager).

/** Where a conda environment's Python distributions (`*.dist-info`) are installed. */
export const SITE_PACKAGES = "/opt/conda/lib/python3.11/site-packages";

/** A conda-meta record (`/opt/conda/conda-meta/NAME-VERSION-BUILD.json`) of a conda-forge package for linux-64. */
export function condaRecord(name: string, version: string): string {
  return JSON.stringify({ name, version, build: "py311_0", channel: "https://conda.anaconda.org/conda-forge/linux-64", subdir: "linux-64" });
}
