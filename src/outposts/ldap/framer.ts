import { BerError, elementSize } from './ber.ts';

// Splits a connection's byte stream into whole LDAPMessages, each at most `maxBytes` (elementSize
// refuses a larger one from its header alone). A message that arrives in many chunks is copied
// once, into a buffer of its announced size: joining what had arrived on every chunk copied up to
// 64 KiB per byte received, and 200 connections from one address trickling a byte every 2 ms kept
// more than a core busy. What it holds per connection is bounded by that one buffer.

/** A message header (tag, length octets) is at most 6 bytes (lengths of at most 4 octets). */
const MAX_HEADER_BYTES = 6;

export class MessageFramer {
  private readonly maxBytes: number;
  /** The start of a message whose header is not whole yet (fewer than MAX_HEADER_BYTES bytes). */
  private head: Buffer = Buffer.alloc(0);
  /** The message being received, at its full size, and how much of it has arrived. */
  private partial: Buffer | null = null;
  private filled = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Whether part of a message has arrived and the rest not yet. */
  get hasPartial(): boolean {
    return this.head.length > 0 || this.partial !== null;
  }

  /** The whole messages this chunk completes, in order; throws BerError on a malformed or oversized one. */
  push(chunk: Buffer): Buffer[] {
    const messages: Buffer[] = [];
    let data = chunk;
    if (this.partial) {
      const take = Math.min(this.partial.length - this.filled, data.length);
      data.copy(this.partial, this.filled, 0, take);
      this.filled += take;
      if (this.filled < this.partial.length) return messages;
      messages.push(this.partial);
      this.partial = null;
      this.filled = 0;
      data = data.subarray(take);
    }
    if (this.head.length) {
      data = Buffer.concat([this.head, data]);
      this.head = Buffer.alloc(0);
    }
    for (;;) {
      const size = elementSize(data, this.maxBytes);
      if (size < 0) {
        if (data.length >= MAX_HEADER_BYTES) throw new BerError('malformed message header');
        // Copied: a few bytes must not keep the whole chunk they came in alive.
        this.head = Buffer.from(data);
        return messages;
      }
      if (data.length < size) {
        this.partial = Buffer.allocUnsafe(size);
        data.copy(this.partial);
        this.filled = data.length;
        return messages;
      }
      messages.push(data.subarray(0, size));
      data = data.subarray(size);
    }
  }
}
