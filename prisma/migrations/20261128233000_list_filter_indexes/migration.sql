-- Indexes for the filtered and paginated lists (measured at 1 million reviews: bench/README.md, Scale)
-- reviews_open_assigned_idx serves ?overdue=true and ?status=assigned,in_progress in list order
-- CreateIndex
CREATE INDEX "incidents_severity_created_at_id_idx" ON "incidents"("severity", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "incidents_status_severity_created_at_id_idx" ON "incidents"("status", "severity", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "reviews_priority_assigned_idx" ON "reviews"("priority", "assigned_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "reviews_status_assigned_idx" ON "reviews"("status", "assigned_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "reviews_open_assigned_idx" ON "reviews"("assigned_at" DESC, "id" DESC) WHERE (status = ANY (ARRAY['assigned'::review_status, 'in_progress'::review_status]));
