// Reads the layer directories of a repository into plain data: one glob, then the files.
import fg from "fast-glob";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RawLayerFiles } from "../core/layer-config.js";
import { REPO_CONFIG_FILE } from "../core/repo-config.js";
import { InputError } from "../core/types.js";

async function readOptional(path: string, shown: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new InputError(`cannot read file (${code ?? String(e)})`, shown);
  }
}

export async function readLayerFiles(root: string): Promise<RawLayerFiles[]> {
  const configs = await fg(["science/*/sciserver-image.json", "compat/*/sciserver-image.json"], {
    cwd: root,
    onlyFiles: true,
    dot: false,
  });
  configs.sort();
  return Promise.all(
    configs.map(async (config): Promise<RawLayerFiles> => {
      const [kind, dir] = config.split("/") as ["science" | "compat", string];
      const [text, dockerfile] = await Promise.all([
        readOptional(join(root, config), config),
        readOptional(join(root, kind, dir, "Dockerfile"), `${kind}/${dir}/Dockerfile`),
      ]);
      if (text === undefined) throw new InputError("cannot read file", config);
      return { kind, dir, config: text, dockerfile };
    }),
  );
}

/** Text of the repository's `image-builder.json`, if there is one. */
export async function readRepoConfigText(root: string): Promise<string | undefined> {
  return readOptional(join(root, REPO_CONFIG_FILE), REPO_CONFIG_FILE);
}
