// A bad training configuration: names the field, the value and what is allowed (CLI: exit code 2).
import { InputError } from '../network/errors.js';

export class TrainConfigError extends InputError {
  constructor(field: string, value: unknown, allowed: string) {
    super(field, value, allowed);
    this.name = 'TrainConfigError';
  }
}
