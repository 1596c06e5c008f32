"""4. Scores: the scoring policy and the one result model every report renders from."""
