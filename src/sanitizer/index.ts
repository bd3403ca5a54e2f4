// The sanitizer's public surface.
export { sanitizer, Sanitizer } from './sanitizer.js';
export { SanitizerError, UseAfterFreeError, DoubleFreeError, LeakError } from './errors.js';
export type { LeakRecord, SanitizerReport } from './errors.js';
