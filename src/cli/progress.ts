// A progress bar on stderr when a person is watching (a TTY, no --json); silent otherwise.
import cliProgress from 'cli-progress';

export interface Progress {
  update(stage: string, done: number, total: number): void;
  stop(): void;
}

export function progressBar(label: string, json = false): Progress {
  if (json || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: '{stage} [{bar}] {value}/{total} ({rate}/s, eta {eta_formatted})',
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let active = false;
  let currentStage = label;
  return {
    update(stage, done, total) {
      if (!active || stage !== currentStage) {
        if (active) bar.stop();
        bar.start(total, done, { stage, rate: '0' });
        active = true;
        currentStage = stage;
      }
      bar.setTotal(total);
      bar.update(done, { stage, rate: Math.round(done / Math.max(0.001, (Date.now() - started) / 1000)) });
    },
    stop() {
      if (active) bar.stop();
    },
  };
}
