// Types for bench/stats.mjs, for the unit test that imports it.
export function median(values: readonly number[]): number;
export function interleavedSchedule<M, T>(
  rounds: number,
  measurements: readonly M[],
  transports: readonly T[],
): { round: number; measurement: M; transport: T }[];
export function formatRatio(value: number | undefined, reference: number | undefined, higherIsBetter: boolean): string;
export function formatFigure(value: number | undefined, digits: number): string;
export function formatTable(rows: readonly (readonly string[])[]): string[];
export interface Spread {
  median: number;
  min: number;
  max: number;
}
export function spread(values: readonly unknown[]): Spread | undefined;
export function formatSpread(s: Spread | undefined, digits: number, unit?: string): string;
export function roundRatios(values: readonly (number | undefined)[], references: readonly (number | undefined)[], higherIsBetter: boolean): number[];
