// Entry point of the Freshdesk app's bundle (`node build.mjs --freshdesk <appdir>`): calls go
// through Freshworks' request proxy and the installation is signed in first
// (transport_freshdesk.ts); then the same panel as everywhere else (main.tsx) starts.

import { startInFreshdesk } from './transport_freshdesk';

void startInFreshdesk(() => import('./main'));
