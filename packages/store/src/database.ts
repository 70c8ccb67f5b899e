import type { Generated } from 'kysely';

/** Flags are integers 0/1 on both engines, so one query means the same everywhere. */
type Flag = number;

/** The tables of the store, as kysely sees them. Times are epoch milliseconds (bigint). */
export interface Database {
  clusters: { id: string; name: string; url: string };
  templates: {
    id: Generated<number>;
    name: string;
    description: string;
    memory: number;
    cores: number;
    is_active: Flag;
    created_at: number;
    updated_at: number;
  };
  template_node_mappings: { template_id: number; cluster_id: string; node: string; vmid: number };
  template_inventory: {
    cluster_id: string;
    node: string;
    vmid: number;
    name: string;
    is_replica: Flag;
    source_vmid: number | null;
    source_node: string | null;
    is_class_template: Flag;
    class_id: string | null;
    last_verified_at: number | null;
    health: string;
    vanished_at: number | null;
  };
  people: {
    id: Generated<number>;
    username: string;
    display_name: string;
    email: string | null;
    role: string;
    created_at: number;
  };
  identities: { person_id: number; platform: string; external_id: string };
  classes: {
    id: string;
    name: string;
    template_id: number | null;
    owner_id: number | null;
    created_at: number;
    /** Comma-separated node names (migration 0020); null: any node. */
    pinned_nodes: string | null;
  };
  class_members: { class_id: string; person_id: number; role: string };
  vm_assignments: {
    cluster_id: string;
    vmid: number;
    person_id: number | null;
    class_id: string | null;
    role: string;
    created_at: number;
  };
  vm_inventory: {
    cluster_id: string;
    vmid: number;
    name: string;
    node: string;
    status: string;
    ip: string | null;
    type: string;
    category: string;
    memory: number | null;
    cores: number | null;
    disk_size: number | null;
    uptime: number;
    cpu_usage: number;
    memory_usage: number;
    is_template: Flag;
    tags: string;
    rdp_available: Flag;
    ssh_available: Flag;
    last_updated: number;
    last_status_check: number | null;
    sync_error: string | null;
    gone_at: number | null;
    /** Snapshots the VM had when the lab last looked; null = not known. */
    snapshots: number | null;
    /** `vmSyncKey` of the row's listed fields; null when a change to them came without the whole row. */
    sync_key: number | null;
  };
  deployments: {
    id: string;
    class_id: string;
    cluster_id: string;
    spec: string;
    status: string;
    created_by: string;
    created_at: number;
    updated_at: number;
    finished_at: number | null;
    error: string | null;
    notify: string | null;
  };
  deployment_items: {
    deployment_id: string;
    name: string;
    kind: string;
    person_id: number | null;
    node: string | null;
    vmid: number | null;
    status: string;
    attempt: number;
    error: string | null;
    updated_at: number;
  };
  sync_state: {
    cluster_id: string;
    last_full_sync_at: number | null;
    last_quick_sync_at: number | null;
    last_success_at: number | null;
    consecutive_errors: number;
    last_error: string | null;
    next_attempt_at: number | null;
  };
  leases: { name: string; holder: string; expires_at: number };
  nonces: { key: string; payload: string | null; expires_at: number };
  invites: {
    code_hash: string;
    class_id: string;
    created_by: number | null;
    created_at: number;
    expires_at: number;
    max_uses: number;
    uses: number;
  };
  invite_uses: { code_hash: string; person_id: number; used_at: number };
  console_grants: {
    token_hash: string;
    person_id: number;
    cluster_id: string;
    vmid: number;
    platform: string;
    platform_user_id: string;
    created_at: number;
    expires_at: number;
    session_max_ms: number;
    used_at: number | null;
  };
  join_requests: {
    id: string;
    class_id: string;
    person_id: number;
    platform: string;
    external_id: string;
    code_hash: string;
    status: string;
    created_at: number;
    expires_at: number;
    decided_by: string | null;
    decided_at: number | null;
  };
  rate_counters: { key: string; window_start: number; count: number };
  web_sessions: {
    id_hash: string;
    person_id: number;
    issuer: string;
    subject: string;
    created_at: number;
    last_seen_at: number;
    expires_at: number;
    revoked_at: number | null;
  };
  sdn_objects: {
    cluster_id: string;
    object_id: string;
    kind: string;
    zone: string;
    class_id: string | null;
    student: string;
    cidr: string | null;
    gateway: string | null;
    tag: number | null;
    snat: Flag;
    dhcp: Flag;
    state: string;
    created_at: number;
    updated_at: number;
  };
  class_terms: {
    class_id: string;
    ends_on: string | null;
    timezone: string;
    grace_days: number;
    destroy_confirmed_by: string | null;
    destroy_confirmed_at: number | null;
    archived_at: number | null;
  };
  class_labs: {
    class_id: string;
    roles: string;
    network_mode: string;
    network_zone: string | null;
    internet: string;
    updated_by: string;
    updated_at: number;
  };
  link_codes: {
    code_hash: string;
    person_id: number;
    created_at: number;
    expires_at: number;
    used_at: number | null;
    used_by: string | null;
  };
  ssh_keys: {
    person_id: number;
    fingerprint: string;
    key: string;
    type: string;
    comment: string | null;
    added_at: number;
  };
  class_settings: { class_id: string; login_user: string | null; ipconfig0: string | null };
  class_base_versions: {
    class_id: string;
    version: number;
    name: string;
    cluster_id: string;
    source_vmid: number | null;
    snapshot: string | null;
    note: string | null;
    created_by: string;
    created_at: number;
  };
  class_schedules: {
    id: Generated<number>;
    class_id: string;
    days: string;
    start_time: string;
    end_time: string;
    timezone: string;
    start_before_min: number;
    /** JSON array of `YYYY-MM-DD`. */
    skip_dates: string;
    created_by: string;
    created_at: number;
  };
  class_time_policies: {
    class_id: string;
    quota_hours: number | null;
    max_running: number | null;
    max_running_in_class: number | null;
    idle_cpu_below_percent: number | null;
    idle_for_minutes: number | null;
    keeps_per_session: Generated<number>;
    idle_warn_minutes: number | null;
    idle_in_sessions: Generated<number>;
    max_snapshots: Generated<number>;
    idle_users: Generated<number>;
    console_never_idle: Generated<number>;
    never_connected_minutes: number | null;
  };
  quota_top_ups: {
    id: Generated<number>;
    class_id: string;
    person_id: number;
    hours: number;
    idempotency_key: string;
    actor: string;
    at: number;
  };
  vm_usage_intervals: { cluster_id: string; vmid: number; started_at: number; ended_at: number | null };
  vm_idle: {
    cluster_id: string;
    vmid: number;
    idle_since: number | null;
    warned_at: number | null;
    kept_at: number | null;
    keeps_used: Generated<number>;
  };
  audit_log: {
    id: Generated<number>;
    at: number;
    actor: string;
    action: string;
    target: string;
    outcome: string;
    details: string;
  };
}

/** The two engines the store runs on. */
export type Engine = 'sqlite' | 'postgres';
