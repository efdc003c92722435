/** A recursive-descent parser's place in its source, and what the GBNF and regex parsers both read. */
import { InvalidRequestError } from '../../contract/errors';
import { GRAMMAR_LIMITS, type Expr } from './grammar';

export class Scanner {
  /** the offset of the next character to read */
  i = 0;

  constructor(
    readonly source: string,
    /** the request field the source came from, named by every error */
    readonly field: string,
  ) {}

  fail = (message: string): never => {
    throw new InvalidRequestError(`${this.field}: ${message} at offset ${this.i}`, { field: this.field, offset: this.i });
  };

  /** `n` hexadecimal digits, as a code unit */
  hex(n: number): number {
    const digits = this.source.slice(this.i, this.i + n);
    if (digits.length !== n || !/^[0-9a-fA-F]+$/.test(digits)) this.fail(`expected ${n} hexadecimal digits`);
    this.i += n;
    return parseInt(digits, 16);
  }

  /** a repetition count, up to GRAMMAR_LIMITS.repeat */
  count(): number {
    const from = this.i;
    while (/[0-9]/.test(this.source[this.i] ?? '')) this.i++;
    const n = Number(this.source.slice(from, this.i));
    if (from === this.i || n > GRAMMAR_LIMITS.repeat) this.fail(`expected a repetition count up to ${GRAMMAR_LIMITS.repeat}`);
    return n;
  }

  /** sequence ('|' sequence)*; a single option stands for itself */
  alternatives(sequence: () => Expr): Expr {
    const options = [sequence()];
    while (this.source[this.i] === '|') {
      this.i++;
      options.push(sequence());
    }
    return options.length === 1 ? options[0] : { k: 'alt', options };
  }
}
