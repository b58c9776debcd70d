// The reproduction studies, one per claim, in the order of the report.
import type { Study } from 'signalprop';

export const STUDIES: Study[] = [];
