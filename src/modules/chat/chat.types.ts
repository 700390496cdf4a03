/** What answered a message. */
export type ChatSource = 'retrieval' | 'generation' | 'fallback';

/** One exchange of a session, oldest first in the history. */
export interface ChatTurn {
  user: string;
  bot: string;
  source: ChatSource;
  /** The matched intent for retrieval answers, else null. */
  intent: string | null;
  /** ISO 8601 time of the reply. */
  at: string;
}
