# label: NO-LEAK
# Patients never straddle folds.
import pandas as pd
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.ensemble import RandomForestClassifier

scans = pd.read_csv("scans.csv")
X = scans.drop(columns=["patient_id", "diagnosis"])
y = scans["diagnosis"]
gkf = GroupKFold(n_splits=5)
print(cross_val_score(RandomForestClassifier(random_state=0), X, y, groups=scans["patient_id"], cv=gkf).mean())
