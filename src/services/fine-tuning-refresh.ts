/**
 * The background fine-tuning refresher (README "Batches": jobs nobody polls still finish): every round
 * leases due unfinished jobs with `FOR UPDATE SKIP LOCKED` (instances share the work, a restart
 * resumes it from the database), refreshes each through FineTuningService.refresh — so a
 * succeeded job's result files become managed files of its owner and its `fine_tuned_model`
 * becomes usable in chat — and schedules the next look.
 */
import { randomUUID } from 'node:crypto';
import { upstreamLogFields } from '../core/errors.ts';
import type { FineTuningJobRepository } from '../persistence/fine-tuning-job-repository.ts';
import type { AdapterLogger, CallContext } from '../providers/provider-adapter.ts';
import type { FineTuningService } from './fine-tuning-service.ts';
import { startRefreshLoop } from './refresh-loop.ts';

/** Jobs leased per round; a full round is followed at once by the next. */
const REFRESH_PAGE = 100;

export class FineTuningRefresher {
  readonly instanceId = `fine-tuning-refresher-${randomUUID()}`;

  constructor(
    private readonly service: FineTuningService,
    private readonly jobs: FineTuningJobRepository,
    private readonly options: { intervalMs: number },
  ) {}

  /** One round: lease up to `limit` due jobs, refresh each, release. Answers how many it leased. */
  async refreshDue(logger: AdapterLogger, limit = REFRESH_PAGE): Promise<number> {
    // Longer than a round can take, so two instances never refresh one job at once.
    const leaseMs = Math.max(60_000, this.options.intervalMs * 4);
    const rows = await this.jobs.claimDue(this.instanceId, limit, leaseMs);
    const context: CallContext = { requestId: `fine-tuning-refresh-${randomUUID()}`, logger };
    await Promise.all(
      rows.map(async (row) => {
        try {
          await this.service.refresh(row, context);
          await this.jobs.releaseLease(row.id, this.instanceId, this.options.intervalMs);
        } catch (error) {
          logger.warn({ jobId: row.id, ...upstreamLogFields(error), error: (error as Error).message }, 'background fine-tuning refresh failed');
          await this.jobs.refreshFailed(row.id, this.instanceId, (error as Error).message).catch(() => undefined);
        }
      }),
    );
    return rows.length;
  }

  /** Runs refreshDue every interval until stopped; the returned function waits for the round in flight. */
  start(logger: AdapterLogger): () => Promise<void> {
    return startRefreshLoop({ round: () => this.refreshDue(logger), pageSize: REFRESH_PAGE, intervalMs: this.options.intervalMs, logger, name: 'fine-tuning refresher' });
  }
}
