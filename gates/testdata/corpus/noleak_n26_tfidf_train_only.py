# label: NO-LEAK
# The vectorizer learns its vocabulary from the training documents.
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression

reviews = pd.read_csv("reviews.csv")
docs_train, docs_test, y_train, y_test = train_test_split(reviews["text"], reviews["sentiment"], random_state=0)
vec = TfidfVectorizer(min_df=2)
Xtr = vec.fit_transform(docs_train)
Xte = vec.transform(docs_test)
print(LogisticRegression(max_iter=1000).fit(Xtr, y_train).score(Xte, y_test))
