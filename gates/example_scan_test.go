package gates_test

import (
	"context"
	"fmt"

	"github.com/rigor-dev/rigor/gates"
)

func ExampleLeakage() {
	src := `import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

df = pd.read_csv("data.csv")
X = StandardScaler().fit_transform(df.drop(columns="y"))
X_train, X_test, y_train, y_test = train_test_split(X, df["y"])
`
	res, err := gates.Leakage(context.Background(), []gates.Source{{Path: "train.py", Text: []byte(src)}}, gates.Options{})
	if err != nil {
		panic(err)
	}
	for _, f := range res.Findings {
		fmt.Printf("%s %s %s\n", f.Loc, f.Rule, f.Severity)
		for _, r := range f.Related {
			fmt.Printf("  %s: %s\n", r.Role, r.Loc)
		}
	}
	fmt.Println(res.Report.Verdict)
	// Output:
	// train.py:6:5 leakage.preprocessing critical
	//   fit: train.py:6:5
	//   split: train.py:7:36
	// fail
}

func ExampleSeeds() {
	src := `import numpy as np
rng = np.random.default_rng()
`
	res, err := gates.Seeds(context.Background(), []gates.Source{{Path: "sim.py", Text: []byte(src)}}, gates.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Seeds.Required, res.Seeds.Set, res.Seeds.MissingCritical)
	// Output:
	// [pythonhashseed numpy_seed] [] [pythonhashseed numpy_seed]
}
