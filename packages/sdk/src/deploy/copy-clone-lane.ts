/** A copy of a base waiting to clone beside its base: where it goes and how many students follow it there. */
export interface CopyCloneTicket {
  /** The target's storage instance (`node/storage`, or the shared storage's id). */
  targetStorage: string;
  /** Students of its class that wait for it on the target. */
  students: number;
}

interface Waiting extends CopyCloneTicket {
  seq: number;
  admit: (leave: () => void) => void;
}

/**
 * Sends the clones of copies of base templates beside their base on one storage one after the
 * other, over every deployment one engine runs on the cluster. A clone takes the storage's lock
 * once per drive it allocates and PVE serves the lock in turn, so two clones asked for together
 * both end late: each is asked for once the one before has begun its last allocation (`leave`),
 * and takes the lock right after it. Of those waiting, the next is the copy into the target
 * storage that has received the fewest copies yet (the copies into one storage share its
 * throughput: its first copy starts its chain), then the one with the most students waiting for
 * it (the longest way still to go, `bench/README.md`), then the first asked.
 */
export class CopyCloneLane {
  readonly #waiting: Waiting[] = [];
  readonly #admittedInto = new Map<string, number>();
  #busy = false;
  #seq = 0;

  /** Waits for the lane's turn; answers `leave`, to be called once the clone has begun its last allocation (or ended, or failed); more calls do nothing. */
  enter(ticket: CopyCloneTicket): Promise<() => void> {
    return new Promise((resolve) => {
      this.#waiting.push({ ...ticket, seq: this.#seq++, admit: resolve });
      if (!this.#busy) this.#admitNext();
    });
  }

  #admitNext(): void {
    const next = this.#waiting.reduce<Waiting | undefined>(
      (best, w) => (best === undefined || this.#before(w, best) ? w : best),
      undefined,
    );
    if (!next) {
      this.#busy = false;
      return;
    }
    this.#waiting.splice(this.#waiting.indexOf(next), 1);
    this.#busy = true;
    this.#admittedInto.set(next.targetStorage, (this.#admittedInto.get(next.targetStorage) ?? 0) + 1);
    let left = false;
    next.admit(() => {
      if (left) return;
      left = true;
      this.#admitNext();
    });
  }

  #before(a: Waiting, b: Waiting): boolean {
    const intoA = this.#admittedInto.get(a.targetStorage) ?? 0;
    const intoB = this.#admittedInto.get(b.targetStorage) ?? 0;
    if (intoA !== intoB) return intoA < intoB;
    if (a.students !== b.students) return a.students > b.students;
    return a.seq < b.seq;
  }
}
