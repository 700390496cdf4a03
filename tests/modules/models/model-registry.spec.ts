import { MetricsService } from '../../../src/modules/metrics/metrics.service';
import { ModelMissingError, ModelRegistry } from '../../../src/modules/models/model-registry';
import { readyBanner } from '../../../src/banner';

describe('ModelRegistry', () => {
  it('a shutdown during a load disposes of the model once the load is over', async () => {
    const registry = new ModelRegistry(new MetricsService());
    const disposed: string[] = [];
    const handle = registry.register({
      name: 'slow',
      task: 'test',
      required: false,
      load: () => new Promise<string>((r) => setTimeout(() => r('the model'), 50)),
      dispose: (m) => void disposed.push(m),
    });
    registry.onApplicationBootstrap();
    expect(handle.status).toBe('loading');
    await registry.onApplicationShutdown();
    expect(disposed).toEqual(['the model']);
    expect(() => handle.get()).toThrow();
  });

  it('settled() waits for the first loads and never loads a model again', async () => {
    const registry = new ModelRegistry(new MetricsService());
    let loads = 0;
    registry.register({
      name: 'counter',
      task: 'test',
      required: false,
      load: async () => {
        loads++;
        await new Promise((r) => setTimeout(r, 20));
        return { n: loads };
      },
    });
    registry.register({
      name: 'absent',
      task: 'test',
      required: false,
      hint: 'run `make absent`',
      load: () => Promise.reject(new ModelMissingError('files not found')),
    });
    registry.onApplicationBootstrap();
    await registry.settled();
    await registry.settled();
    expect(loads).toBe(1);
    const report = await registry.report();
    expect(report.map((m) => [m.name, m.status])).toEqual([
      ['counter', 'ready'],
      ['absent', 'missing'],
    ]);
    // The start-up banner: the URLs, then each model and what it is.
    const banner = readyBanner('http://localhost:3000', report).split('\n');
    expect(banner[0]).toBe(
      'ready: demo http://localhost:3000/  ·  API docs http://localhost:3000/docs  ·  health http://localhost:3000/health/ready',
    );
    expect(banner[1]).toBe('  counter  ready (test)');
    expect(banner[2]).toMatch(/^ {2}absent {3}missing: .*not installed: run `make absent`/);
  });
});
