// The string formats the plan and results files use, each a pattern the published JSON Schema
// carries too, and a message that names what was expected (core/formats/validate.ts adds the field).
import { z } from "zod";
import { TAGGED_REFERENCE, taggedReferenceProblem } from "../parse/image-reference.js";
import { REPO_LOCATION } from "../parse/repo-config.js";
import { expectedFormat } from "./validate.js";

/** `sha256:` and 64 hex digits: inputs digests, registry digests, image ids. */
export const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, { error: expectedFormat("a digest (sha256: and 64 lowercase hex digits)") });

/** An image reference with a tag, as docker takes it (`host:5000/path/name:tag`). */
export const taggedReference = z.string().regex(TAGGED_REFERENCE, { error: (issue) => taggedReferenceProblem(String(issue.input)) });

/** The registry location a plan's tags are under (`--repo`, `image-builder.json`). */
export const registryLocation = z.string().regex(REPO_LOCATION, {
  error: expectedFormat("a registry location such as registry.example.org/team/images (lowercase, no scheme or tag)"),
});

/**
 * A build's id (`sci/{target}`, `rel/{image}:{version}`): `/`-separated parts that don't start with
 * a `.`, so no `..`, no leading `/` (ids name log files and report pages).
 */
export const buildId = z.string().regex(/^[A-Za-z0-9_][\w.:@+-]*(?:\/[A-Za-z0-9_][\w.:@+-]*)*$/, {
  error: expectedFormat(`a build id such as sci/{target} or rel/{image}:{version} (no "." or ".." parts, no leading "/")`),
});

/** An ISO 8601 date-time with a zone (`2026-12-03T09:00:00.000Z`, as toISOString writes it). */
export const dateTime = z.iso.datetime({ offset: true, error: expectedFormat("an ISO 8601 date-time such as 2026-12-03T09:00:00Z") });
