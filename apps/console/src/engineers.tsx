import { useState } from 'preact/hooks';

import { api, type Engineer, type EngineerStatus } from './api';
import { label, when } from './format';
import { ActionForm, ErrorBox, Loading, SelectField, TextField, useResource } from './ui';

const STATUSES: { value: EngineerStatus; label: string }[] = (['active', 'on_leave', 'offline'] as const).map((value) => ({
  value,
  label: label(value),
}));

const tags = (text: string): string[] =>
  text
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);

function CreateEngineer({ done }: { done: () => void }) {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [expertise, setExpertise] = useState('');
  const [capacity, setCapacity] = useState('3');
  return (
    <details class="panel">
      <summary>Add an engineer</summary>
      <ActionForm
        label="Create engineer"
        fieldLabels={{ name: 'Name', email: 'Email', expertise: 'Expertise', maxConcurrentReviews: 'Capacity' }}
        run={async () => {
          const engineer = await api.createEngineer({
            name,
            email,
            expertise: tags(expertise),
            maxConcurrentReviews: Number(capacity),
            status: 'active',
          });
          setName('');
          setEmail('');
          setExpertise('');
          return `${engineer.name} added.`;
        }}
        done={done}
      >
        <TextField label="Name" value={name} onInput={setName} required maxLength={200} />
        <TextField label="Email" value={email} onInput={setEmail} required type="email" />
        <TextField label="Expertise" value={expertise} onInput={setExpertise} hint="Comma-separated tags, e.g. postgres, kubernetes" />
        <TextField label="Capacity" value={capacity} onInput={setCapacity} required type="number" hint="Most open reviews at once (1–50)" />
      </ActionForm>
    </details>
  );
}

function EngineerRow({ engineer, done }: { engineer: Engineer; done: () => void }) {
  const [capacity, setCapacity] = useState(String(engineer.maxConcurrentReviews));
  const [status, setStatus] = useState<EngineerStatus>(engineer.status);
  const [drainStatus, setDrainStatus] = useState<'on_leave' | 'offline'>('on_leave');
  const [reason, setReason] = useState('');
  if (engineer.deletedAt) {
    return (
      <li class="card muted">
        <h3>{engineer.name}</h3>
        <p>
          {engineer.email} · deleted {when(engineer.deletedAt)}
        </p>
      </li>
    );
  }
  return (
    <li class="card">
      <h3>{engineer.name}</h3>
      <p>
        {engineer.email} · {label(engineer.status)} · {engineer.currentReviewCount} of {engineer.maxConcurrentReviews} open ·{' '}
        {engineer.expertise.join(', ') || 'no expertise tags'}
      </p>
      <div class="row-actions" role="group" aria-label={`Manage ${engineer.name}`}>
        <ActionForm
          label={`Save ${engineer.name}`}
          fieldLabels={{ maxConcurrentReviews: 'Capacity', status: 'Status' }}
          run={async () => {
            await api.updateEngineer(engineer.id, { maxConcurrentReviews: Number(capacity), status });
            return 'Saved.';
          }}
          done={done}
        >
          <TextField label="Capacity" value={capacity} onInput={setCapacity} required type="number" />
          <SelectField label="Status" value={status} onChange={setStatus} options={STATUSES} />
        </ActionForm>
        <ActionForm
          label={`Drain ${engineer.name}`}
          fieldLabels={{ reason: 'Reason for draining', status: 'New status' }}
          run={async () => {
            const result = await api.drain(engineer.id, drainStatus, reason);
            return `${result.reassigned.length} review(s) moved to others${result.notReassigned.length ? `; ${result.notReassigned.length} could not be moved and stay with ${engineer.name}` : ''}.`;
          }}
          done={done}
        >
          <SelectField
            label="New status"
            value={drainStatus}
            onChange={setDrainStatus}
            options={STATUSES.filter((option) => option.value !== 'active') as { value: 'on_leave' | 'offline'; label: string }[]}
          />
          <TextField label="Reason for draining" value={reason} onInput={setReason} required maxLength={1000} />
        </ActionForm>
        <ActionForm
          label={`Delete ${engineer.name}`}
          danger
          run={async () => {
            await api.deleteEngineer(engineer.id);
            return `${engineer.name} deleted; their history is kept.`;
          }}
          done={done}
        />
      </div>
    </li>
  );
}

export function Engineers() {
  const [showDeleted, setShowDeleted] = useState(false);
  const engineers = useResource(() => api.engineers(showDeleted), `engineers-${showDeleted}`, true);
  const reload = () => void engineers.reload();
  return (
    <section aria-labelledby="engineers-title">
      <h1 id="engineers-title">Engineers</h1>
      <CreateEngineer done={reload} />
      <label class="choice">
        <input type="checkbox" checked={showDeleted} onChange={(event) => setShowDeleted(event.currentTarget.checked)} /> Show deleted
        engineers
      </label>
      <ErrorBox error={engineers.error} />
      {!engineers.data && !engineers.error && <Loading what="engineers" />}
      {engineers.data && (
        <ul class="cards">
          {engineers.data.items.map((engineer) => (
            <EngineerRow key={engineer.id} engineer={engineer} done={reload} />
          ))}
        </ul>
      )}
    </section>
  );
}
