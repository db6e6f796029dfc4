"""Pure routing decisions: which agents may take a task, in what order, and how queues widen."""
