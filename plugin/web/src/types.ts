// The messages of proto/debrief/v1/{model,services}.proto as debriefd's JSON door prints them:
// Protobuf's JSON mapping with every primitive field printed, so int64 values arrive as
// strings, enums as their names and Timestamps as RFC 3339 strings. Message fields that are
// unset (a ticket's task when it is not linked) are absent, hence the optional marks; the
// code reads every field defensively all the same, since an older debriefd may omit some.

export interface TicketRef {
  helpdeskId: string;
  ticketId: string;
}

export interface Person {
  id?: string;
  name?: string;
  email?: string;
}

export interface Ticket {
  helpdeskId: string;
  ticketId: string;
  requester?: Person;
  subject?: string;
  status?: string; // new | open | pending | solved | closed
  channel?: string;
  createdAt?: string;
  updatedAt?: string;
  url?: string;
}

export type CategoryKind =
  | 'CATEGORY_KIND_UNSPECIFIED'
  | 'COMPLAINT'
  | 'PRAISE'
  | 'SUGGESTION'
  | 'QUESTION';

export interface Category {
  id: string;
  name: string;
  kind?: CategoryKind;
  description?: string;
  reviewThreshold?: number;
  routing?: { trackerId?: string; project?: string; labels?: string[]; component?: string };
  openImmediately?: boolean;
  openAfterTickets?: number;
  publicReply?: boolean;
  // Taxonomy changes: a retired category takes no new tickets (merged and split ones too).
  retired?: boolean;
  mergedInto?: string;
  splitInto?: string[];
}

export type TaxonomyChangeKind =
  | 'CATEGORY_ADDED'
  | 'CATEGORY_RENAMED'
  | 'CATEGORY_CHANGED'
  | 'CATEGORY_RETIRED'
  | 'CATEGORY_MERGED'
  | 'CATEGORY_SPLIT'
  | 'CATEGORY_RESTORED'
  | 'REVIEW_THRESHOLD_CHANGED';

export interface TaxonomyChange {
  kind?: TaxonomyChangeKind;
  categoryId?: string;
  before?: string;
  after?: string;
  into?: string[];
  fields?: string[];
  effect?: string;
}

export interface TaxonomyVersion {
  version?: string;
  at?: string;
  actor?: string;
  source?: string;
  changes?: TaxonomyChange[];
}

export interface TaxonomyHistoryResponse {
  versions?: TaxonomyVersion[];
}

export interface Reason {
  feature: string;
  weight?: number;
}

export interface ScoredCategory {
  categoryId: string;
  confidence?: number;
}

export interface Classification {
  categoryId?: string;
  confidence?: number;
  reasons?: Reason[];
  needsReview?: boolean;
  model?: string;
  classifiedAt?: string;
  alternatives?: ScoredCategory[];
}

export type TaskStatus =
  | 'TASK_STATUS_UNSPECIFIED'
  | 'TASK_PENDING_CREATE'
  | 'TASK_OPEN'
  | 'TASK_IN_PROGRESS'
  | 'TASK_DONE'
  | 'TASK_WONT_DO'
  | 'TASK_SHIPPED';

export type Verdict = 'VERDICT_UNSPECIFIED' | 'VERIFIED' | 'NOT_YET_KNOWN' | 'NOT_VERIFIED';

export interface FixVerification {
  verdict?: Verdict;
  before?: string;
  after?: string;
  pValue?: number;
  change?: number;
  checkedAt?: string;
  window?: string;
  summary?: string;
}

export interface ImprovementTask {
  id: string; // int64
  categoryId?: string;
  trackerId?: string;
  externalId?: string;
  externalKey?: string;
  url?: string;
  title?: string;
  status?: TaskStatus;
  ticketCount?: string; // int64
  customerCount?: string; // int64
  createdAt?: string;
  updatedAt?: string;
  firstSeen?: string;
  lastSeen?: string;
  doneAt?: string;
  shippedAt?: string; // the release holding the fix came out
  release?: string; // its name ("v2.3"); empty where done is shipped
  regressionOf?: string; // int64, "0" when none
  verification?: FixVerification;
  flagged?: boolean;
  statusReadAt?: string;
  weeklyTickets?: string[]; // int64 per week, oldest first, the current week last
}

export interface TaskLink {
  taskId: string;
  helpdeskId?: string;
  ticketId?: string;
  origin?: string;
  linkedAt?: string;
}

export interface GetTicketResponse {
  ticket?: Ticket;
  classification?: Classification;
  link?: TaskLink;
  task?: ImprovementTask;
}

export interface ListCategoriesResponse {
  categories?: Category[];
  reviewThreshold?: number;
  taxonomyVersion?: string;
}

export interface FeedbackResponse {
  classification?: Classification;
}

export interface SearchTasksResponse {
  tasks?: ImprovementTask[];
}

export interface RefreshTaskResponse {
  task?: ImprovementTask;
}

export interface LinkTicketResponse {
  link?: TaskLink;
}

export interface RequestTaskResponse {
  task?: ImprovementTask;
  created?: boolean;
}

export interface JourneyEntry {
  ticket?: Ticket;
  classification?: Classification;
  task?: ImprovementTask;
  repeatContact?: boolean;
  toldFixed?: boolean;
}

export interface GetJourneyResponse {
  entries?: JourneyEntry[];
}

export interface SimilarTicketsResponse {
  tickets?: JourneyEntry[];
}

// The answer of POST /api/v1/session and /api/v1/session/refresh, and the JSON of the
// <script id="debrief-session"> element debriefd adds to a helpdesk-signed page.
export interface Session {
  token: string;
  expiresAt: string;
  name: string;
  role: string;
  helpdeskId: string;
  ticketId?: string;
  // Signed in as a helpdesk's installation, not a person: no tasks asked for, none refreshed.
  installation?: boolean;
}

// ---- Insights (the leads' page) ----

export interface InsightsFilter {
  helpdeskId?: string;
  kind?: CategoryKind;
  from?: string;
  to?: string;
}

export interface CauseTrend {
  categoryId: string;
  name: string;
  kind?: CategoryKind;
  weeklyTickets?: string[];
  tickets?: string;
  repeatContacts?: string;
}

export interface CausesOverTimeResponse {
  weeks?: string[];
  causes?: CauseTrend[];
}

export interface TaskImpact {
  task: ImprovementTask;
  categoryName?: string;
  kind?: CategoryKind;
  recentTickets?: string;
  earlierTickets?: string;
  growth?: number;
  stalled?: boolean;
  statusChangedAt?: string;
  windowTickets?: string;
}

export interface TasksByImpactResponse {
  tasks?: TaskImpact[];
  stallMinTickets?: number;
  stallWindow?: string; // "1209600s"
}

export interface FixOutcome {
  task: ImprovementTask;
  categoryName?: string;
  cameBackAs?: string;
  firstTicket?: string;
  opened?: string;
  done?: string;
  shipped?: string; // unset: fixed, not yet shipped
  told?: string;
  ticketsTold?: string;
  customersReplied?: string;
}

export interface CycleStage {
  stage: string; // to_task | to_done | to_shipped | to_told
  tasks?: number;
  median?: string; // "3600s"
  p90?: string;
}

export interface CauseCycle {
  categoryId?: string;
  name?: string;
  stages?: CycleStage[];
}

export interface FixOutcomesResponse {
  fixes?: FixOutcome[];
  cycles?: CauseCycle[];
}

export interface SuggestionVoice {
  categoryId: string;
  name?: string;
  tickets?: string;
  customers?: string;
  taskId?: string;
  taskStatus?: TaskStatus;
  taskUrl?: string;
  ticketsTold?: string;
  customersReplied?: string;
}

export interface PraiseVoice {
  categoryId: string;
  name?: string;
  agent?: string;
  tickets?: string;
}

export interface CustomersVoiceResponse {
  suggestions?: SuggestionVoice[];
  praise?: PraiseVoice[];
}

export interface EmergingIssue {
  id: string;
  size?: string;
  topTerms?: string[];
  examples?: string[];
  firstSeen?: string;
  lastSeen?: string;
  suggestedName?: string;
  representatives?: { ticket: TicketRef; subject?: string; similarity?: number }[];
  growth?: { day: string; tickets?: string }[];
}

export interface ReviewItem {
  ticket: TicketRef;
  subject?: string;
  classification?: Classification;
  firstSeen?: string;
  worth?: number;
  causeSize?: string;
  url?: string;
}

export interface ListReviewResponse {
  tickets?: ReviewItem[];
}

export interface ListEmergingResponse {
  issues?: EmergingIssue[];
}

export interface PromoteEmergingResponse {
  category?: Category;
  tickets?: string;
}

export interface ListTasksResponse {
  tasks?: ImprovementTask[];
}

export interface GetTaskResponse {
  task?: ImprovementTask;
  links?: TaskLink[];
}

// ---- Admin (the admins' console) ----

// Since debriefd started; times absent for what has not happened.
export interface AdapterHealth {
  lastWebhook?: string;
  refusalsLastHour?: Record<string, string>; // reason -> count (int64)
  lastSuccess?: string;
  lastErrorAt?: string;
  lastError?: string;
  callsOk?: string;
  callsFailed?: string;
  rateLimitWaits?: string;
  reconciledTo?: string;
  nextReconcile?: string;
  outboxPending?: string;
  outboxDead?: string;
}

export interface AdapterInfo {
  id: string;
  type?: string;
  kind?: string; // helpdesk | tracker
  webhookPath?: string;
  webhookUrl?: string;
  health?: AdapterHealth;
  // Its own file in conf.d when the console may change and remove it; empty for an adapter
  // written in the main configuration file.
  file?: string;
}

export interface ListAdaptersResponse {
  adapters?: AdapterInfo[];
}

export interface CheckAdapterResponse {
  ok?: boolean;
  message?: string;
}

// One setting of an adapter type, from its settings message: what the console's form asks for.
export type SettingType =
  | 'string'
  | 'int'
  | 'bool'
  | 'number'
  | 'duration'
  | 'secret'
  | 'list'
  | 'map'
  | 'group';

export interface SettingField {
  name: string; // as written in YAML: "api_key"
  path?: string; // dotted from settings: "write_back.bearer_token"
  type?: SettingType | string;
  help?: string; // the settings message's comments, may be several lines
  fields?: SettingField[]; // a group's
}

export interface AdapterType {
  type: string; // "redmine"
  kind?: string; // helpdesk | tracker
  help?: string;
  fields?: SettingField[];
}

export interface ListAdapterTypesResponse {
  types?: AdapterType[];
}

// An adapter as an admin fills it in. Secret values go in `secrets` (by setting path), never in
// `settings`; a secret not given keeps the file it had.
export interface AdapterDraft {
  kind: string;
  config: { id: string; type: string; settings: Record<string, unknown> };
  secrets: Record<string, string>;
  // Secret settings to unset when changing an adapter: neither kept nor typed.
  unsetSecrets?: string[];
}

export interface SetupStep {
  title?: string;
  detail?: string;
  value?: string;
}

export interface AdapterSetup {
  webhookUrl?: string; // empty without http.public_url
  webhookPath?: string;
  steps?: SetupStep[];
}

export interface SaveAdapterResponse {
  file?: string;
  secretFiles?: string[];
  reload?: ReloadResponse;
  setup?: AdapterSetup;
  check?: string;
}

export interface RemoveAdapterResponse {
  reload?: ReloadResponse;
}

export interface GetAdapterSetupResponse {
  setup?: AdapterSetup;
}

// An adapter as GetConfig prints it (config.helpdesks[], config.trackers[]).
export interface AdapterConfigJson {
  id?: string;
  type?: string;
  settings?: Record<string, unknown>;
}

export interface DeadLetter {
  seq: string;
  adapterId?: string;
  deliveryKey?: string;
  receivedAt?: string;
  failedAt?: string;
  attempts?: number;
  error?: string;
}

export interface ListDeadLettersResponse {
  deadLetters?: DeadLetter[];
}

export interface ReplayDeliveryResponse {
  outcome?: string;
}

export interface DiscardDeliveryResponse {
  discarded?: number;
}

export interface DeadAction {
  id: string;
  adapterId?: string;
  kind?: string; // create_task, sync_task, write_back, notify_ticket, reply, verify_fix, ...
  ticket?: TicketRef;
  taskId?: string;
  attempts?: number;
  error?: string;
  createdAt?: string;
}

export interface ListDeadActionsResponse {
  deadActions?: DeadAction[];
}

export interface RetryDeadActionResponse {
  retried?: number;
}

export interface DiscardDeadActionResponse {
  discarded?: number;
}

export interface AuditEntry {
  id: string;
  at?: string;
  actor?: string;
  action?: string;
  target?: string;
  outcome?: string;
}

export interface ListAuditResponse {
  entries?: AuditEntry[];
}

export interface ApiToken {
  id: string;
  name?: string;
  role?: string;
  helpdeskId?: string;
  createdAt?: string;
  lastUsedAt?: string;
  revoked?: boolean;
  installation?: boolean;
}

export interface ListApiTokensResponse {
  tokens?: ApiToken[];
}

export interface CreateApiTokenResponse {
  token?: ApiToken;
  secret?: string;
}

export interface GetConfigResponse {
  config?: Record<string, unknown>;
  file?: string;
  loadedAt?: string;
}

export interface ConfigChange {
  path?: string;
  before?: string;
  after?: string;
}

export interface ReloadResponse {
  applied?: boolean;
  changes?: ConfigChange[];
  restartNeeded?: string[];
  file?: string;
  loadedAt?: string;
}
