import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { LiveViewSource } from '../../dashboards/use-live-graph.js';
import type { LiveView } from '../../dashboards/view-model.js';
import { Watch } from '../../dashboards/Watch.js';
import { view } from './views.js';

/** A source the test changes by hand, counting how often a view was built. */
class ManualSource implements LiveViewSource {
  version = 0;
  built = 0;
  current: LiveView = view();
  view(): LiveView {
    this.built++;
    return this.current;
  }
}

describe('Watch', () => {
  it('redraws from the source when its version moves, not on every change', async () => {
    const source = new ManualSource();
    const { lastFrame, unmount } = render(<Watch source={source} onQuit={() => {}} intervalMs={50} />);
    expect(lastFrame()).toContain('spans 1,234');
    const builtAtStart = source.built;
    // Many changes between two frames: one view is built for all of them.
    for (let i = 0; i < 100; i++) {
      source.current = view({ counters: { ...view().counters, accepted: 5000 + i } });
      source.version++;
    }
    await expect.poll(() => lastFrame()).toContain('spans 5,099');
    expect(source.built - builtAtStart).toBeLessThan(10);
    unmount();
  });
});
