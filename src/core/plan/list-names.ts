// Lists what a flag could have named, for the one line that refuses an unknown name.

/** `a, b, c`, or the first `max` and how many more, so the line stays readable in a large plan. */
export function listNames(names: string[], max = 20): string {
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}
