// `npm run seed`: demo data for trying the service out, written straight to the database named by
// DATABASE_URL (which must be migrated). Idempotent: engineers are matched by email and incidents by
// externalRef; whatever already exists is left exactly as it is (it may have changed through the
// API since), so running it twice creates nothing the second time.
//
// Seed data is written behind the API's back: it writes no audit entries and no webhook events.
// The review invariants hold as if the API had made them: each open review counts in its engineer's
// currentReviewCount and is its incident's openReviewId, and decided incidents carry chosenApproach.
import { PrismaPg } from '@prisma/adapter-pg';

import { ConfigError, databaseUrlFrom, slaSecondsFrom } from '@app/config';

import {
  type Approach,
  type EngineerStatus,
  type IncidentStatus,
  type Prisma,
  PrismaClient,
  type ReviewPriority,
  type ReviewStatus,
  type Severity,
} from '../libs/database/src/generated/prisma/client.js';

const SEED_ACTOR = 'system:seed';
const HOUR_MS = 3_600_000;

interface SeedEngineer {
  name: string;
  email: string;
  expertise: string[];
  maxConcurrentReviews: number;
  status: EngineerStatus;
}

interface SeedReview {
  engineerEmail: string;
  status: ReviewStatus;
  priority: ReviewPriority;
  assignedHoursAgo: number;
  /** For submitted and decided reviews. */
  submission?: { hoursAgo: number; approach: string; analysis: string; confidence: number };
  /** For decided reviews: the approach chosen and why. */
  decision?: { hoursAgo: number; chosen: Approach; rationale: string };
}

interface SeedIncident {
  externalRef: string;
  title: string;
  description: string | null;
  severity: Severity;
  aiProposal: string;
  requiredExpertise: string[];
  status: IncidentStatus;
  createdHoursAgo: number;
  review?: SeedReview;
}

const ENGINEERS: SeedEngineer[] = [
  {
    name: 'Priya Raman',
    email: 'priya.raman@example.com',
    expertise: ['postgres', 'performance'],
    maxConcurrentReviews: 3,
    status: 'active',
  },
  {
    name: 'Marcus Chen',
    email: 'marcus.chen@example.com',
    expertise: ['kubernetes', 'networking'],
    maxConcurrentReviews: 4,
    status: 'active',
  },
  { name: 'Sofia Alvarez', email: 'sofia.alvarez@example.com', expertise: ['security', 'iam'], maxConcurrentReviews: 2, status: 'active' },
  {
    name: 'Tomasz Nowak',
    email: 'tomasz.nowak@example.com',
    expertise: ['postgres', 'replication', 'backups'],
    maxConcurrentReviews: 3,
    status: 'active',
  },
  {
    name: 'Aisha Bello',
    email: 'aisha.bello@example.com',
    expertise: ['cdn', 'frontend', 'networking'],
    maxConcurrentReviews: 3,
    status: 'active',
  },
  { name: 'Jonas Berg', email: 'jonas.berg@example.com', expertise: ['kafka', 'streaming'], maxConcurrentReviews: 2, status: 'on_leave' },
  {
    name: 'Mei Tanaka',
    email: 'mei.tanaka@example.com',
    expertise: ['kubernetes', 'observability'],
    maxConcurrentReviews: 5,
    status: 'active',
  },
  { name: 'Daniel Okafor', email: 'daniel.okafor@example.com', expertise: ['api', 'payments'], maxConcurrentReviews: 3, status: 'offline' },
];

const INCIDENTS: SeedIncident[] = [
  {
    externalRef: 'seed-1001',
    title: 'Checkout API p99 latency above 2 s',
    description: 'p99 latency of POST /checkout rose from 350 ms to 2.4 s after 14:00 UTC.',
    severity: 'critical',
    aiProposal: 'Roll back the payments-gateway deployment of 13:52 UTC and raise its connection pool from 20 to 40.',
    requiredExpertise: ['api', 'payments'],
    status: 'detected',
    createdHoursAgo: 0.5,
  },
  {
    externalRef: 'seed-1002',
    title: 'TLS certificate of the status page expires in 5 days',
    description: 'Automatic renewal failed twice: the DNS challenge record is missing.',
    severity: 'low',
    aiProposal: 'Recreate the _acme-challenge TXT record and trigger a manual renewal.',
    requiredExpertise: ['security'],
    status: 'detected',
    createdHoursAgo: 3,
  },
  {
    externalRef: 'seed-1003',
    title: 'Consumer lag on the orders topic above 200 000 messages',
    description: null,
    severity: 'high',
    aiProposal: 'Scale the order-projector consumer group from 4 to 8 replicas.',
    requiredExpertise: ['kafka', 'streaming'],
    status: 'detected',
    createdHoursAgo: 1,
  },
  {
    externalRef: 'seed-1004',
    title: 'Disk usage at 91 % on the analytics replica',
    description: 'Growth of 4 % a day since the new events table; autovacuum is behind.',
    severity: 'medium',
    aiProposal: 'Drop the events_2023 partitions and run VACUUM (ANALYZE) on events.',
    requiredExpertise: ['postgres'],
    status: 'analyzing',
    createdHoursAgo: 5,
  },
  {
    externalRef: 'seed-1005',
    title: 'Intermittent 502 responses from the CDN edge in eu-west',
    description: 'About 0.4 % of requests; origin logs show no matching errors.',
    severity: 'medium',
    aiProposal: 'Raise the edge-to-origin keep-alive timeout from 5 s to 30 s.',
    requiredExpertise: ['cdn', 'networking'],
    status: 'analyzing',
    createdHoursAgo: 8,
  },
  {
    externalRef: 'seed-1006',
    title: 'Pods OOM-killed after the search-indexer deploy',
    description: 'Memory limit 512 MiB; the new version peaks at 700 MiB while warming caches.',
    severity: 'high',
    aiProposal: 'Raise the memory limit of search-indexer to 1 GiB.',
    requiredExpertise: ['kubernetes'],
    status: 'pending_approval',
    createdHoursAgo: 3,
    review: { engineerEmail: 'marcus.chen@example.com', status: 'assigned', priority: 'normal', assignedHoursAgo: 2 },
  },
  {
    externalRef: 'seed-1007',
    title: 'Slow query on the reviews dashboard',
    description: 'The open-reviews widget takes 9 s; a sequential scan on reviews shows in the plan.',
    severity: 'high',
    aiProposal: 'Add an index on reviews (engineer_id, status).',
    requiredExpertise: ['postgres', 'performance'],
    status: 'pending_approval',
    createdHoursAgo: 7,
    // 1 h past its 4 h SLA: the scheduler escalates it to level 1 soon after start, to level 2 an hour later.
    review: { engineerEmail: 'priya.raman@example.com', status: 'in_progress', priority: 'high', assignedHoursAgo: 5 },
  },
  {
    externalRef: 'seed-1008',
    title: 'Replication lag spikes during the nightly backup',
    description: 'Lag reaches 90 s between 02:00 and 02:40 UTC on replica-2.',
    severity: 'high',
    aiProposal: 'Move the backup to replica-3 and keep replica-2 for reads only.',
    requiredExpertise: ['postgres', 'replication'],
    status: 'pending_approval',
    createdHoursAgo: 20,
    review: {
      engineerEmail: 'tomasz.nowak@example.com',
      status: 'submitted',
      priority: 'normal',
      assignedHoursAgo: 18,
      submission: {
        hoursAgo: 1,
        approach: 'Throttle the backup with max_rate = 50 MB/s on replica-2 instead of moving it.',
        analysis: 'replica-3 has no spare disk for the backup staging area; the lag comes from I/O saturation.',
        confidence: 0.8,
      },
    },
  },
  {
    externalRef: 'seed-1009',
    title: 'Service account with admin rights unused for 90 days',
    description: 'ci-legacy still holds the cluster-admin role.',
    severity: 'medium',
    aiProposal: 'Delete the ci-legacy service account.',
    requiredExpertise: ['iam', 'security'],
    status: 'approved',
    createdHoursAgo: 48,
    review: {
      engineerEmail: 'sofia.alvarez@example.com',
      status: 'accepted',
      priority: 'normal',
      assignedHoursAgo: 46,
      submission: {
        hoursAgo: 30,
        approach: 'Remove the cluster-admin binding now and delete the account after one release cycle.',
        analysis: 'A nightly export job still authenticates as ci-legacy once a month.',
        confidence: 0.9,
      },
      decision: { hoursAgo: 28, chosen: 'engineer_approach', rationale: 'Deleting the account at once would break the monthly export.' },
    },
  },
  {
    externalRef: 'seed-1010',
    title: 'Prometheus scrape timeouts on node exporters',
    description: 'Scrapes of 12 of 40 nodes time out at 10 s.',
    severity: 'low',
    aiProposal: 'Disable the textfile collector on the affected nodes.',
    requiredExpertise: ['observability'],
    status: 'resolved',
    createdHoursAgo: 96,
    review: {
      engineerEmail: 'mei.tanaka@example.com',
      status: 'rejected',
      priority: 'low',
      assignedHoursAgo: 95,
      submission: {
        hoursAgo: 80,
        approach: 'Raise the scrape timeout to 30 s.',
        analysis: 'The textfile collector reads a 40 MB file written by a broken cron job.',
        confidence: 0.55,
      },
      decision: { hoursAgo: 78, chosen: 'ai_approach', rationale: 'A longer timeout hides the broken cron job.' },
    },
  },
];

const OPEN_REVIEW_STATUSES: ReadonlySet<ReviewStatus> = new Set(['assigned', 'in_progress', 'submitted']);

function hoursAgo(now: Date, hours: number): Date {
  return new Date(now.getTime() - hours * HOUR_MS);
}

/** The review row as the API would have left it after the moves that led to `review.status`. */
function reviewData(
  review: SeedReview,
  incidentId: string,
  engineerId: string,
  slaSeconds: Record<ReviewPriority, number>,
  now: Date,
): Prisma.ReviewUncheckedCreateInput {
  const assignedAt = hoursAgo(now, review.assignedHoursAgo);
  const submittedAt = review.submission && hoursAgo(now, review.submission.hoursAgo);
  const decidedAt = review.decision && hoursAgo(now, review.decision.hoursAgo);
  return {
    incidentId,
    engineerId,
    status: review.status,
    priority: review.priority,
    assignedAt,
    startedAt: review.status === 'assigned' ? null : new Date(assignedAt.getTime() + 0.25 * HOUR_MS),
    submittedAt,
    expectedCompletionAt: new Date(assignedAt.getTime() + slaSeconds[review.priority] * 1000),
    approach: review.submission?.approach,
    analysis: review.submission?.analysis,
    confidence: review.submission?.confidence,
    decision: review.decision?.chosen ?? 'pending',
    decisionMadeAt: decidedAt,
    decisionRationale: review.decision?.rationale,
    decidedBy: review.decision && SEED_ACTOR,
    assignmentStrategy: 'manual',
    assignedBy: SEED_ACTOR,
    createdAt: assignedAt,
    updatedAt: decidedAt ?? submittedAt ?? assignedAt,
  };
}

async function seed(prisma: PrismaClient, slaSeconds: Record<ReviewPriority, number>) {
  const now = new Date();
  return prisma.$transaction(
    async (tx) => {
      const counts = { engineersCreated: 0, incidentsCreated: 0, reviewsCreated: 0 };
      const engineerIds = new Map<string, string>();
      for (const engineer of ENGINEERS) {
        const existing = await tx.engineer.findUnique({ where: { email: engineer.email }, select: { id: true } });
        const row = existing ?? (await tx.engineer.create({ data: { ...engineer, createdAt: now, updatedAt: now }, select: { id: true } }));
        if (!existing) counts.engineersCreated += 1;
        engineerIds.set(engineer.email, row.id);
      }

      for (const { review, createdHoursAgo, ...incident } of INCIDENTS) {
        if (await tx.incident.findUnique({ where: { externalRef: incident.externalRef }, select: { id: true } })) continue;
        const createdAt = hoursAgo(now, createdHoursAgo);
        const chosenApproach = review?.decision?.chosen ?? null;
        const { id: incidentId } = await tx.incident.create({
          data: { ...incident, chosenApproach, createdAt, updatedAt: createdAt },
          select: { id: true },
        });
        counts.incidentsCreated += 1;
        if (!review) continue;

        const engineerId = engineerIds.get(review.engineerEmail);
        if (!engineerId) throw new Error(`Seed data: no engineer ${review.engineerEmail}`);
        const created = await tx.review.create({
          data: reviewData(review, incidentId, engineerId, slaSeconds, now),
          select: { id: true, assignedAt: true, updatedAt: true },
        });
        counts.reviewsCreated += 1;
        await tx.incident.update({
          where: { id: incidentId },
          data: { openReviewId: OPEN_REVIEW_STATUSES.has(review.status) ? created.id : null, updatedAt: created.updatedAt },
        });
        // As an assignment would: an open review counts in the engineer's workload.
        const openReviews = OPEN_REVIEW_STATUSES.has(review.status) ? 1 : 0;
        await tx.$executeRaw`
          UPDATE engineers
          SET current_review_count = current_review_count + ${openReviews},
              last_assigned_at = GREATEST(last_assigned_at, ${created.assignedAt})
          WHERE id = ${engineerId}::uuid`;
      }
      return counts;
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
}

async function main(): Promise<number> {
  // Only what seeding needs: the seed is not the service and needs no token settings.
  let config;
  try {
    config = { databaseUrl: databaseUrlFrom(process.env), slaSeconds: slaSecondsFrom(process.env) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    if (error.variable === 'DATABASE_URL') {
      console.error('To seed the embedded database, run it with `npm start` and then:');
      console.error('  DATABASE_URL=postgresql://postgres@127.0.0.1:54329/postgres npm run seed');
    }
    return 1;
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: config.databaseUrl, max: 2 }) });
  try {
    const counts = await seed(prisma, config.slaSeconds);
    console.info(
      `Seeded: ${counts.engineersCreated} of ${ENGINEERS.length} engineers and ${counts.incidentsCreated} of ${INCIDENTS.length} incidents created ` +
        `(the others already existed and were left unchanged), ${counts.reviewsCreated} reviews created.`,
    );
    return 0;
  } catch (error) {
    console.error(`Seeding failed: ${(error as Error).message}`);
    console.error('Is the database migrated? `npm run db:migrate` (or start the service with MIGRATE_ON_START=true) first.');
    return 1;
  } finally {
    await prisma.$disconnect();
  }
}

process.exitCode = await main();
