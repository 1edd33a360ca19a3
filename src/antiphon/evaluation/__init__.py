"""How much an answer resembles the music that followed: metrics, baselines, the evaluate report."""
