import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

// A backup file: MAGIC | salt (16) | iv (12) | AES-256-GCM ciphertext | tag (16). The file key
// is HKDF(backup key, salt), so no two files share a key/IV pair; the header is authenticated
// as additional data. The plaintext is a list of named entries (manifest.json, database,
// media/…), each framed as u32 name length | name | u64 size | bytes.

const MAGIC = Buffer.from('GHBACKUP1\n');
const SALT = 16;
const IV = 12;
const TAG = 16;

export type Entries = Map<string, Buffer>;

export class BackupFileError extends Error {
  override name = 'BackupFileError';
}

function pack(entries: Entries): Buffer {
  const parts: Buffer[] = [];
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const head = Buffer.alloc(12);
    head.writeUInt32BE(nameBytes.length, 0);
    head.writeBigUInt64BE(BigInt(data.length), 4);
    parts.push(head.subarray(0, 4), nameBytes, head.subarray(4), data);
  }
  return Buffer.concat(parts);
}

function unpack(plain: Buffer): Entries {
  const entries: Entries = new Map();
  let at = 0;
  while (at < plain.length) {
    if (at + 4 > plain.length) throw new BackupFileError('truncated entry');
    const nameLength = plain.readUInt32BE(at);
    const name = plain.subarray(at + 4, at + 4 + nameLength).toString('utf8');
    at += 4 + nameLength;
    if (at + 8 > plain.length) throw new BackupFileError('truncated entry');
    const size = Number(plain.readBigUInt64BE(at));
    at += 8;
    if (at + size > plain.length) throw new BackupFileError('truncated entry');
    entries.set(name, plain.subarray(at, at + size));
    at += size;
  }
  return entries;
}

const fileKey = (key: Buffer, salt: Buffer) => Buffer.from(hkdfSync('sha256', key, salt, 'gatehouse-backup-file', 32));

export function sealBackup(key: Buffer, entries: Entries): Buffer {
  const salt = randomBytes(SALT);
  const iv = randomBytes(IV);
  const header = Buffer.concat([MAGIC, salt, iv]);
  const cipher = createCipheriv('aes-256-gcm', fileKey(key, salt), iv);
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(pack(entries)), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

/** Decrypts and checks the tag before anything is read: a changed byte or a wrong key fails here. */
export function openBackup(key: Buffer, file: Buffer): Entries {
  if (file.length < MAGIC.length + SALT + IV + TAG || !file.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new BackupFileError('not a Gatehouse backup file');
  }
  const salt = file.subarray(MAGIC.length, MAGIC.length + SALT);
  const iv = file.subarray(MAGIC.length + SALT, MAGIC.length + SALT + IV);
  const header = file.subarray(0, MAGIC.length + SALT + IV);
  const decipher = createDecipheriv('aes-256-gcm', fileKey(key, salt), iv);
  decipher.setAAD(header);
  decipher.setAuthTag(file.subarray(file.length - TAG));
  try {
    const plain = Buffer.concat([decipher.update(file.subarray(header.length, file.length - TAG)), decipher.final()]);
    return unpack(plain);
  } catch (error) {
    if (error instanceof BackupFileError) throw error;
    throw new BackupFileError('the backup cannot be decrypted: wrong key (GATEHOUSE_BACKUP__KEY / GATEHOUSE_SECRET_KEY) or a damaged file');
  }
}
