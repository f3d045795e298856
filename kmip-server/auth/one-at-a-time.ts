/**
 * Runs tasks that share a key one after another, tasks of different keys side by side. The header-credential
 * check uses it per KmipClientCredential: a password verification is a deliberate ~0.1 s of scrypt, so a client
 * sending wrong passwords on many connections at once gets one verification at a time, not one per connection.
 * The queue of a key is as long as its callers waiting (the server handles one message per connection at a time,
 * and connections are limited), and the key is forgotten when its queue empties.
 */
export class OneAtATime {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    const result = before.then(task);
    const tail = result.then(() => undefined, () => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with a task running or waiting. */
  get size(): number {
    return this.#tails.size;
  }
}
