/**
 * A first-in first-out queue with O(1) push and shift. `Array.prototype.shift` copies the whole array
 * once it is large (V8 cannot trim the front of an array in large-object space): a work queue holding
 * 100k keys (a resync of every Tenant) spent most of the control plane's event loop in `shift`.
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T;
    // Drop the consumed front once it is most of the array: each item is copied O(1) times overall.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
