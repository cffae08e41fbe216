/**
 * Spreads a model's requests over its deployments in proportion to their `weight` (default 1),
 * as smooth weighted round-robin (the scheme nginx documents for `upstream … weight=`): each pick
 * adds every candidate's weight to its running score, takes the highest, and subtracts the total
 * from the winner. Equal weights give plain round-robin; picks stay interleaved, never bunched.
 */
export interface Weighted {
  id: string;
  weight?: number;
}

export class WeightedRoundRobin {
  private readonly scores = new Map<string, number>();

  /** Index of the candidate to try first. */
  pick(candidates: readonly Weighted[]): number {
    if (candidates.length === 1) return 0;
    let total = 0;
    let best = 0;
    let bestScore = -Infinity;
    candidates.forEach((candidate, index) => {
      const weight = candidate.weight ?? 1;
      total += weight;
      const score = (this.scores.get(candidate.id) ?? 0) + weight;
      this.scores.set(candidate.id, score);
      if (score > bestScore) {
        bestScore = score;
        best = index;
      }
    });
    const winner = candidates[best]!.id;
    this.scores.set(winner, bestScore - total);
    return best;
  }
}
