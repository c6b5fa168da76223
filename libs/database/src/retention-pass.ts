import type { Logger } from '@nestjs/common';

/**
 * A scheduled purge's pass, one at a time per process: a tick that comes while the previous pass
 * still runs is skipped. It logs how many rows a pass deleted, or why it failed, and never throws:
 * the next tick tries again.
 */
export class RetentionPass {
  private running = false;

  /** `rows` names what is purged, in the log lines: "Purged <rows>", "Purging <rows> failed". */
  constructor(
    private readonly logger: Logger,
    private readonly rows: string,
  ) {}

  async run(purge: () => Promise<number[]>): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const deleted = await purge();
      if (deleted.length > 0) this.logger.log({ deleted: deleted.reduce((sum, n) => sum + n, 0) }, `Purged ${this.rows}`);
    } catch (error) {
      this.logger.warn({ err: error }, `Purging ${this.rows} failed`);
    } finally {
      this.running = false;
    }
  }
}
