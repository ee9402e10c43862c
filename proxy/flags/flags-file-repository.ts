import { EventEmitter } from 'node:events';
import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UnleashEvents } from 'unleash-client';
import { parseFlags, type ClientFeatures, type Feature } from './flags-file.ts';

type Segment = NonNullable<ClientFeatures['segments']>[number];

/**
 * unleash-client's repository for local mode: the flags file is the bootstrap and there is
 * no fetching. The client's own evaluation (strategies, stickiness, constraints) runs on it
 * unchanged; this class only loads the file and re-loads it when it changes. A file that
 * fails to parse is reported and ignored, so the last good flags stay in force.
 */
export class FlagsFileRepository extends EventEmitter {
  private features = new Map<string, Feature>();
  private segments = new Map<number, Segment>();
  private lastText: string | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly onPoll = () => this.scheduleReload();

  constructor(readonly file: string) {
    super();
  }

  async start(): Promise<void> {
    await this.reload();
    const dir = path.dirname(this.file);
    const base = path.basename(this.file);
    // Watch the folder, not the file: an atomic rename replaces the file's inode.
    this.watcher = watch(dir, { persistent: false }, (_event, name) => {
      if (name === base) this.scheduleReload();
    });
    this.watcher.on('error', (err) => this.emit(UnleashEvents.Warn, `cannot watch ${dir}: ${err.message}`));
    // Some file systems (network, some containers) drop inotify events; a slow poll covers them.
    watchFile(this.file, { interval: 1000, persistent: false }, this.onPoll);
  }

  private scheduleReload(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    // Editors write in several steps; settle briefly before reading.
    this.timer = setTimeout(() => void this.reload(), 25);
  }

  private async reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if (this.lastText !== undefined) this.emit(UnleashEvents.Warn, `flags file ${this.file} cannot be read (${(err as NodeJS.ErrnoException).code}); keeping the last good flags`);
      else this.emit(UnleashEvents.Error, err);
      return;
    }
    if (text === this.lastText || this.stopped) return;
    let data: ClientFeatures;
    try {
      data = parseFlags(text, this.file);
    } catch (err) {
      this.emit(UnleashEvents.Error, err);
      return;
    }
    const first = this.lastText === undefined;
    this.lastText = text;
    this.features = new Map(data.features.map((f) => [f.name, f]));
    this.segments = new Map((data.segments ?? []).map((s) => [s.id, s]));
    if (first) this.emit(UnleashEvents.Ready);
    this.emit(UnleashEvents.Changed, data.features);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    unwatchFile(this.file, this.onPoll);
    this.removeAllListeners();
  }

  getToggle(name: string): Feature | undefined {
    return this.features.get(name);
  }

  getToggles(): Feature[] {
    return [...this.features.values()];
  }

  getTogglesWithSegmentData(): any[] {
    return this.getToggles().map((f) => ({
      ...f,
      strategies: f.strategies?.map((s) => ({ ...s, segments: s.segments?.map((id) => this.segments.get(id)) })),
    }));
  }

  getSegment(id: number): Segment | undefined {
    return this.segments.get(id);
  }
}
