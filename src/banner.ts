import type { ModelReport } from './modules/models/model-registry';

/** What a person starting the server wants to see once it is ready: where to go, and what each model is. */
export function readyBanner(baseUrl: string, models: ModelReport[]): string {
  const width = Math.max(...models.map((m) => m.name.length));
  const lines = [
    `ready: demo ${baseUrl}/  ·  API docs ${baseUrl}/docs  ·  health ${baseUrl}/health/ready`,
    ...models.map((m) => {
      const what = m.status === 'ready' ? `ready (${m.task})` : `${m.status}: ${m.error ?? m.task}`;
      return `  ${m.name.padEnd(width)}  ${what}`;
    }),
  ];
  return lines.join('\n');
}
