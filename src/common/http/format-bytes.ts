/** "10 MB", "0.3 MB", "64 KB": a byte count as people read it (MB from a tenth of one, one decimal at most). */
export function formatBytes(bytes: number): string {
  const mb = 1024 * 1024;
  if (bytes >= mb / 10) return `${+(bytes / mb).toFixed(1)} MB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} bytes`;
}
