import type { Logger } from 'pino';
import { publicUrl } from '../config/publicUrl.ts';
import type { Config } from '../config/schema.ts';
import type { CoreDeps } from '../core/context.ts';
import { type BackupSettings, backupSettings } from './backup/settings.ts';
import { createMailer, type Mailer } from './mail/mailer.ts';

/** What job handlers work with, built once per worker process. */
export interface WorkerServices {
  deps: CoreDeps;
  logger: Logger;
  mailer: Mailer | null;
  /** Where links in mail point: GATEHOUSE_EXTERNAL_URL, else derived from the HTTP listener. */
  baseUrl: string;
  brandTitle: string;
  backup: BackupSettings;
}

export function buildWorkerServices(config: Config, deps: CoreDeps, logger: Logger, secretKey: string): WorkerServices {
  return {
    deps,
    logger,
    mailer: createMailer(config.email),
    baseUrl: publicUrl(config),
    brandTitle: config.brand.title,
    backup: backupSettings(config, secretKey),
  };
}

export interface JobInfo {
  id: string;
  attempt: number;
}

export type TaskHandler = (payload: Record<string, unknown>, services: WorkerServices, job: JobInfo) => Promise<void>;
