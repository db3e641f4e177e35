// torch's default generator and thread count are process-wide: tests that train must not interleave, or runs would
// not repeat exactly. On two cores parallel training tests would gain nothing anyway.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
