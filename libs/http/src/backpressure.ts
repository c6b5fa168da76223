import type { ServerResponse } from 'node:http';

/** Backpressure for streamed answers: resolves once the client has taken the buffered data, or has gone away. */
export function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
