import { sharedCounter } from './counterWatch.ts';
import { readDirectoryVersion } from './proxyProviders.ts';

/*
 * directory_version (migrations 0005, 0013), known without a read while LISTEN is up: migration
 * 0014 announces every bump (NOTIFY gatehouse_directory). For what polls it — the LDAP directory's
 * digest, forward auth's periodic check — not for a forward-auth miss, which must see a change
 * committed a moment ago by another process and reads the table.
 */
export const DIRECTORY_CHANNEL = 'gatehouse_directory';
export const watchedDirectoryVersion = sharedCounter(DIRECTORY_CHANNEL, readDirectoryVersion);
