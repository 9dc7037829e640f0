/**
 * A minimal SMTP/LMTP sender for load: one connection, one transaction after
 * another (MAIL, RCPT, DATA, message, "."), each reply awaited, as a simple
 * MTA without pipelining sends.
 */

import net from 'node:net';

export class SmtpSender {
  private buffer = '';
  private waiting: { resolve: (reply: string) => void; reject: (err: Error) => void } | null = null;
  private closedError: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      this.buffer += text;
      this.check();
    });
    const closed = (err?: Error): void => {
      this.closedError = err ?? new Error('connection closed');
      const w = this.waiting;
      this.waiting = null;
      w?.reject(this.closedError);
    };
    socket.on('error', closed);
    socket.on('close', () => closed());
  }

  /** Connects, reads the 220 greeting and says EHLO (or LHLO for LMTP). */
  static async open(port: number, lmtp = false): Promise<SmtpSender> {
    const sender = new SmtpSender(net.createConnection({ port, host: '127.0.0.1' }));
    await sender.expect(null, '220');
    await sender.expect(`${lmtp ? 'LHLO' : 'EHLO'} bench.client.test`, '250');
    return sender;
  }

  private check(): void {
    const w = this.waiting;
    if (!w) return;
    // A reply ends with a line whose code is followed by a space (or is just the code).
    let start = 0;
    for (;;) {
      const end = this.buffer.indexOf('\r\n', start);
      if (end < 0) return;
      const line = this.buffer.slice(start, end);
      if (line.length <= 3 || line[3] === ' ') {
        const reply = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        this.waiting = null;
        w.resolve(reply);
        return;
      }
      start = end + 2;
    }
  }

  private read(): Promise<string> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.check();
    });
  }

  /** Sends a command (or nothing) and checks the reply code. */
  async expect(command: string | Buffer | null, code: string): Promise<string> {
    const reply = this.read();
    if (command !== null) this.socket.write(typeof command === 'string' ? `${command}\r\n` : command);
    const text = await reply;
    if (!text.startsWith(code)) throw new Error(`${typeof command === 'string' ? command : 'DATA body'}: expected ${code}, got ${text}`);
    return text;
  }

  /** One transaction; `stuffedBody` is the dot-stuffed message ending in CRLF. */
  async send(from: string, to: string, stuffedBody: Buffer): Promise<void> {
    await this.expect(`MAIL FROM:<${from}>`, '250');
    await this.expect(`RCPT TO:<${to}>`, '250');
    await this.expect('DATA', '354');
    await this.expect(Buffer.concat([stuffedBody, Buffer.from('.\r\n')]), '250');
  }

  async quit(): Promise<void> {
    await this.expect('QUIT', '221').catch(() => undefined);
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** RFC 5321 dot-stuffing of a CRLF message (each line starting with "." gets another). */
export function dotStuff(message: Buffer): Buffer {
  const text = message.toString('latin1');
  const stuffed = (text.startsWith('.') ? '.' : '') + text.replace(/\r\n\./g, '\r\n..');
  return Buffer.from(stuffed.endsWith('\r\n') ? stuffed : `${stuffed}\r\n`, 'latin1');
}
