/** A reply cut into words (spaces kept), so that retrieval answers stream like generated ones. */
export function replyTokens(text: string): string[] {
  return text.split(/(?<=\s)/u).filter((t) => t.length > 0);
}
