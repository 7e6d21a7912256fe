package store

// ForgetThreads drops every post Thread kept: the next read of s reads
// every row, as a store without kept posts would.
func ForgetThreads(s *Store) { s.threads = newThreadCache() }

// PostRowsRead is how many post rows s's reads of threads read whole.
func PostRowsRead(s *Store) int64 { return s.postRowsRead.Load() }
